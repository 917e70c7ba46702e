CREATE TABLE a (x int, x varchar(5));
