mod harness;

mod agent;
mod concurrency;
mod corpus;
mod damage;
mod descriptors;
mod init;
mod keys;
mod lifecycle;
mod passphrase;
mod properties;
mod run;
mod secrets;
mod vectors;
