-- name: ghosts
SELECT * FROM ghosts;
