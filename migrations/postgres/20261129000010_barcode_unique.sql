-- A parcel's barcode is unique per merchant: a depot scan must find one parcel, not pick one of two.
--
-- The barcodes are claimed in a table of their own, keyed by merchant and barcode, so that a database
-- which already holds duplicates migrates all the same: each barcode is claimed by the first shipment
-- that used it (the smallest UUIDv7, the earliest), later duplicates stay as they were (nothing is
-- renamed or deleted), and no new duplicate can be made. `merchant` is '' for shipments staff created,
-- as in `shipments`.
CREATE TABLE parcel_barcodes (
    merchant    TEXT NOT NULL,
    barcode     TEXT NOT NULL,
    shipment_id UUID NOT NULL REFERENCES shipments (id),
    PRIMARY KEY (merchant, barcode)
);

INSERT INTO parcel_barcodes (merchant, barcode, shipment_id)
SELECT DISTINCT ON (s.merchant, p.barcode) s.merchant, p.barcode, s.id
FROM parcels p JOIN shipments s ON s.id = p.shipment_id
ORDER BY s.merchant, p.barcode, s.id;
