//! Fresh key material for a development stack. Never committed, never built
//! in: `make run` generates it once into `.run/dev.env`.
use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine as _};
use rand::RngCore as _;
use yeyak_platform::{
    contact::ContactKeys,
    tokens::{generate_key_material, SigningKey},
};

pub struct DevKeys {
    pub admission: SigningKey,
    pub identity: SigningKey,
    pub trusted: String,
    pub subject_hash_key: String,
    pub operator_token: String,
    /// Notification's keys that open phone numbers; reservation seals to
    /// the public half of the first.
    pub contact: ContactKeys,
}

fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    B64.encode(bytes)
}

impl DevKeys {
    pub fn generate() -> Self {
        let (admission, identity, trusted) = generate_key_material();
        Self {
            admission,
            identity,
            trusted,
            subject_hash_key: random_secret(),
            operator_token: random_secret(),
            contact: ContactKeys::generate("dev-contact-1"),
        }
    }

    /// `export` lines for a shell.
    pub fn to_env(&self) -> String {
        let signing = format!(
            "export YEYAK_ADMISSION_SIGNING_KEY='{}'\nexport YEYAK_IDENTITY_SIGNING_KEY='{}'\nexport YEYAK_TRUSTED_KEYS='{}'\nexport YEYAK_SUBJECT_HASH_KEY='{}'\nexport YEYAK_OPERATOR_TOKEN='{}'\n",
            self.admission.secret_spec(),
            self.identity.secret_spec(),
            self.trusted,
            self.subject_hash_key,
            self.operator_token
        );
        format!("{signing}{}", contact_env(&self.contact))
    }
}

/// `export` lines of the contact keys alone (`yeyak-dev contact-keys`: added
/// to a `.run/dev.env` written before phone numbers were sealed).
pub fn contact_env(contact: &ContactKeys) -> String {
    format!(
        "export YEYAK_CONTACT_KEYS='{}'\nexport YEYAK_CONTACT_PUBLIC_KEY='{}'\n",
        contact.secret_spec(),
        contact.sealer().public_entry()
    )
}
