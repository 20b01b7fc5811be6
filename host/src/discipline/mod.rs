//! Disciplines as the host understands them, independent of wasm: checked descriptions,
//! input preparation against the schemas, and checks of what guests return.

mod description;
mod digest;
mod inputs;
mod jacobian;

pub use description::{DescriptionError, Discipline};
pub use digest::{DigestParseError, ModuleDigest};
pub use inputs::InputError;
pub use jacobian::{Jacobian, JacobianError, check_jacobian};
