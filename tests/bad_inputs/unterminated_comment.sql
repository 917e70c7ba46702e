/* a comment that is never closed
CREATE TABLE a (id int);
CREATE TABLE b (id int);
