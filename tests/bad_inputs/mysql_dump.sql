-- a MySQL dump read with the default (postgres) dialect
CREATE TABLE IF NOT EXISTS `contact` (
  `id` int unsigned NOT NULL auto_increment,
  `name` varchar(255) NOT NULL DEFAULT '',
  PRIMARY KEY(`id`),
  INDEX `name` (`name`)
) DEFAULT COLLATE utf8mb4_general_ci COMMENT='contacts';
CREATE TABLE IF NOT EXISTS `post` (
  `id` int unsigned NOT NULL auto_increment,
  `contact_id` int unsigned NOT NULL,
  PRIMARY KEY(`id`),
  FOREIGN KEY (`contact_id`) REFERENCES `contact` (`id`) ON UPDATE RESTRICT ON DELETE CASCADE
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
