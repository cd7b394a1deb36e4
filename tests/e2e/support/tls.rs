//! A certificate authority made at test time, for serving test doubles over TLS.

use std::path::PathBuf;
use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// A fresh CA, a leaf it signed for `127.0.0.1` and `localhost`, and the CA's PEM in a file.
pub struct TestCa {
    acceptor: TlsAcceptor,
    pem_file: PathBuf,
}

impl TestCa {
    pub fn new() -> Self {
        let mut ca_params = CertificateParams::default();
        ca_params.distinguished_name.push(
            DnType::CommonName,
            super::unique("slack-alarm-notifier test CA"),
        );
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().expect("CA key"))
            .expect("CA certificate");

        let mut leaf_params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])
            .expect("leaf names");
        leaf_params
            .distinguished_name
            .push(DnType::CommonName, "localhost");
        leaf_params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        let leaf_key = KeyPair::generate().expect("leaf key");
        let leaf = leaf_params
            .signed_by(&leaf_key, &ca)
            .expect("leaf certificate");

        let chain = vec![leaf.der().clone(), CertificateDer::from(ca.der().to_vec())];
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
        let mut config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("TLS versions")
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .expect("server certificate");
        config.alpn_protocols = vec![b"http/1.1".to_vec()];

        let pem_file = std::env::temp_dir().join(format!("{}.pem", super::unique("test-ca")));
        std::fs::write(&pem_file, ca.pem()).expect("write the CA's PEM");
        Self {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            pem_file,
        }
    }

    /// Accepts TLS with the leaf certificate.
    pub fn acceptor(&self) -> TlsAcceptor {
        self.acceptor.clone()
    }

    /// `("SSL_CERT_FILE", path to the CA's PEM)`, for `Options::env`.
    pub fn trust_env(&self) -> (&'static str, String) {
        ("SSL_CERT_FILE", self.pem_file.display().to_string())
    }
}

impl Drop for TestCa {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.pem_file);
    }
}
