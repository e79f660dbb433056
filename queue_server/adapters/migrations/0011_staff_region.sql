-- A manager of a street or district office (issue 10): no hall of their own, a region of the
-- config's [regions] tree whose halls' figures they review. Such an account operates no hall.
ALTER TABLE staff ADD COLUMN region text;
ALTER TABLE staff ADD CONSTRAINT staff_region_is_a_manager
    CHECK (region IS NULL OR (role = 'manager' AND hall IS NULL));
