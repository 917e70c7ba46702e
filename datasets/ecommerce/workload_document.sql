-- The study's questions asked of the documents in product_docs: same names, same answers as workload_columns.sql.
-- Values come out of the document as text (->>) and are cast back to the columns' types.

-- name: product_by_id
-- params: id = pick(products.product_id)
SELECT product_id, doc ->> 'sku' AS sku, doc ->> 'name' AS name, (doc ->> 'category_id')::int AS category_id,
       (doc ->> 'price')::numeric(10, 2) AS price
FROM product_docs WHERE product_id = :id;

-- name: category_under_price
-- params: category = pick(products.category_id); cap = between(20, 80)
SELECT product_id, (doc ->> 'price')::numeric(10, 2) AS price
FROM product_docs
WHERE (doc ->> 'category_id')::int = :category AND (doc ->> 'price')::numeric(10, 2) < :cap
ORDER BY product_id;

-- name: product_by_sku
-- params: sku = pick(products.sku)
SELECT product_id, doc ->> 'name' AS name FROM product_docs WHERE doc @> jsonb_build_object('sku', :sku);
