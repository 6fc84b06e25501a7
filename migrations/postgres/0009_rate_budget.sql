-- One rate budget per target, shared by every replica (src/genesys/budget.rs). A replica
-- leases a slice of the target's request slots by moving `next_free_us` (microseconds on
-- this server's clock) past it, and gives an unused tail back only while nobody leased
-- after it. `holder` is the replica (a random id per process and target) whose slice ends
-- at `next_free_us`: a slice after another holder's starts a small guard later.
CREATE TABLE rate_budget (
    target TEXT PRIMARY KEY,
    next_free_us BIGINT NOT NULL,
    holder TEXT NOT NULL
);
