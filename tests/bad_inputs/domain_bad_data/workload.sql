-- name: by_id
-- params: id = pick(items.id)
SELECT name FROM items WHERE id = :id;
