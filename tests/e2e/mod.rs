mod harness;

mod concurrency;
mod corpus;
mod damage;
mod init;
mod passphrase;
mod properties;
mod secrets;
mod vectors;
