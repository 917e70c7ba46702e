-- The document alternative: each product is one jsonb document, keyed by its id (as a document store keeps it).
CREATE TABLE product_docs AS
SELECT product_id,
       jsonb_build_object('sku', sku, 'name', name, 'description', description, 'category_id', category_id,
                          'price', price, 'created_at', created_at) AS doc
FROM products;

ALTER TABLE product_docs ADD PRIMARY KEY (product_id);
