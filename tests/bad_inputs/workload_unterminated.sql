-- name: search
SELECT * FROM products WHERE name = 'never closed;
