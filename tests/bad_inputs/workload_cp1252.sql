-- name: search
SELECT * FROM products WHERE name = 'café';
