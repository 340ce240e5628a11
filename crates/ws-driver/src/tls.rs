//! The rustls client settings both adapters use for `wss://`.

use std::sync::{Arc, OnceLock};

use crate::{ClientConfig, Error};

/// The TLS settings for a `wss://` connection to `host`: the configured ones
/// or, when none are given, the webpki roots (and the system's, with the
/// `native-roots` feature) with ring as the crypto provider. Also returns the
/// server name to verify the certificate against.
///
/// # Errors
///
/// [`Error::Tls`] when `host` is no valid TLS server name, or rustls refuses the default
/// configuration.
pub fn client_tls(
    config: &ClientConfig,
    host: &str,
) -> Result<
    (
        Arc<rustls::ClientConfig>,
        rustls::pki_types::ServerName<'static>,
    ),
    Error,
> {
    let tls = match &config.tls {
        Some(tls) => tls.clone(),
        None => default_tls_config()?,
    };
    // An IPv6 literal arrives bracketed from the URI.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(Error::tls)?;
    Ok((tls, name))
}

fn default_tls_config() -> Result<Arc<rustls::ClientConfig>, Error> {
    static CONFIG: OnceLock<Arc<rustls::ClientConfig>> = OnceLock::new();
    if let Some(config) = CONFIG.get() {
        return Ok(config.clone());
    }
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    #[cfg(feature = "native-roots")]
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(Error::tls)?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(CONFIG.get_or_init(|| Arc::new(config)).clone())
}
