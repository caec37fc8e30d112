//! Proof of delivery: photos and signatures made safe to store and show to customers.
pub mod photo;
pub mod signature;
