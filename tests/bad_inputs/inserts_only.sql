INSERT INTO orders VALUES (1, 'a');
INSERT INTO orders VALUES (2, 'b');
