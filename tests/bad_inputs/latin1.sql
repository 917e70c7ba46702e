-- Kunden (cp1252)
CREATE TABLE kunden (id int PRIMARY KEY, straﬂe text);
