pub mod secret;
