-- Multi-tenant SaaS shop: every tenant's customers and orders are isolated by tenant_id,
-- while the product catalog is shared by all tenants.

CREATE TABLE tenants (
    tenant_id   integer PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    plan        text NOT NULL DEFAULT 'free' CHECK (plan IN ('free', 'team', 'enterprise')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    product_id  bigint PRIMARY KEY,
    sku         varchar(32) NOT NULL UNIQUE,
    name        text NOT NULL,
    price       numeric(10,2) NOT NULL CHECK (price > 0)
);

CREATE TABLE customers (
    tenant_id   integer NOT NULL REFERENCES tenants (tenant_id),
    customer_id bigint NOT NULL,
    email       varchar(254) NOT NULL,
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, customer_id),
    UNIQUE (tenant_id, email)
);

CREATE TABLE orders (
    tenant_id   integer NOT NULL,
    order_id    bigint NOT NULL,
    customer_id bigint NOT NULL,
    status      text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'paid', 'shipped', 'cancelled')),
    ordered_at  timestamptz NOT NULL DEFAULT now(),
    total       numeric(12,2) NOT NULL CHECK (total >= 0),
    PRIMARY KEY (tenant_id, order_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, customer_id)
);

CREATE TABLE order_items (
    tenant_id   integer NOT NULL,
    order_id    bigint NOT NULL,
    line_no     smallint NOT NULL,
    product_id  bigint NOT NULL REFERENCES products (product_id),
    quantity    integer NOT NULL CHECK (quantity BETWEEN 1 AND 50),
    PRIMARY KEY (tenant_id, order_id, line_no),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, order_id) ON DELETE CASCADE
);

CREATE INDEX orders_tenant_customer_idx ON orders (tenant_id, customer_id);
CREATE INDEX orders_tenant_ordered_at_idx ON orders (tenant_id, ordered_at DESC);
