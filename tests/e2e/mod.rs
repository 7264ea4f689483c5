mod harness;

mod agent;
mod backup;
mod concurrency;
mod corpus;
mod damage;
mod descriptors;
mod files;
mod init;
mod keys;
mod lifecycle;
mod openbao;
mod passphrase;
mod properties;
mod run;
mod secrets;
mod vectors;
