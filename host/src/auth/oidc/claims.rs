//! From a verified token's claims to an `Identity`: which claim names the user, which holds the
//! roles, and which roles make an admin.

use serde_json::{Map, Value};

use super::error::TokenRejection;
use crate::auth::{Identity, Role};

/// The claims-to-identity part of the settings.
#[derive(Debug, Clone)]
pub(super) struct ClaimMapping {
    /// A claim name or dotted path naming the user.
    pub user_claim: String,
    /// A claim name or dotted path holding a role or an array of roles.
    pub role_claim: String,
    /// Roles that make the user an admin.
    pub admin_roles: Vec<String>,
}

impl ClaimMapping {
    /// The identity the claims describe; a missing, non-string or empty user is refused.
    pub fn identity(&self, claims: &Map<String, Value>) -> Result<Identity, TokenRejection> {
        let user = claim(claims, &self.user_claim)
            .and_then(Value::as_str)
            .filter(|user| !user.trim().is_empty())
            .ok_or(TokenRejection::MissingUser)?;
        Ok(Identity {
            user: user.to_owned(),
            role: self.role(claims),
        })
    }

    /// Admin if any role in the role claim is an admin role; user otherwise (no claim included).
    fn role(&self, claims: &Map<String, Value>) -> Role {
        let roles = claim(claims, &self.role_claim).map_or_else(Vec::new, roles);
        let is_admin = roles
            .iter()
            .any(|role| self.admin_roles.iter().any(|admin| admin == role));
        if is_admin { Role::Admin } else { Role::User }
    }
}

/// A claim by its exact name (so names with dots, such as "https://example.com/roles", work),
/// else by a dotted path through nested objects ("realm_access.roles").
fn claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    claims.get(name).or_else(|| {
        let mut segments = name.split('.');
        let first = claims.get(segments.next()?)?;
        segments.try_fold(first, |value, segment| value.get(segment))
    })
}

/// The roles in a claim: a string is one role, an array holds roles (its non-strings ignored).
fn roles(value: &Value) -> Vec<&str> {
    match value {
        Value::String(role) => vec![role.as_str()],
        Value::Array(items) => items.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn mapping(user_claim: &str, role_claim: &str) -> ClaimMapping {
        ClaimMapping {
            user_claim: user_claim.to_owned(),
            role_claim: role_claim.to_owned(),
            admin_roles: vec!["admin".to_owned(), "operator".to_owned()],
        }
    }

    fn identity_of(mapping: &ClaimMapping, claims: Value) -> Result<Identity, TokenRejection> {
        let Value::Object(claims) = claims else {
            panic!("claims are an object")
        };
        mapping.identity(&claims)
    }

    fn role_of(role_claim: &str, claims: Value) -> Role {
        let identity = identity_of(&mapping("sub", role_claim), claims).expect("an identity");
        identity.role
    }

    #[test]
    fn a_user_without_roles_is_a_user() {
        let identity = identity_of(&mapping("sub", "roles"), json!({"sub": "ada"}));
        let expected = Identity {
            user: "ada".to_owned(),
            role: Role::User,
        };
        assert_eq!(identity, Ok(expected));
    }

    #[test]
    fn an_admin_role_as_a_string_or_in_an_array_makes_an_admin() {
        assert_eq!(
            role_of("roles", json!({"sub": "a", "roles": "admin"})),
            Role::Admin
        );
        let array = json!({"sub": "a", "roles": ["reader", "operator"]});
        assert_eq!(role_of("roles", array), Role::Admin);
    }

    #[test]
    fn other_roles_make_a_user() {
        assert_eq!(
            role_of("roles", json!({"sub": "a", "roles": "reader"})),
            Role::User
        );
        let odd = json!({"sub": "a", "roles": [1, {"admin": true}, "Admin"]});
        assert_eq!(role_of("roles", odd), Role::User);
        assert_eq!(
            role_of("roles", json!({"sub": "a", "roles": true})),
            Role::User
        );
    }

    #[test]
    fn a_dotted_path_reaches_nested_roles() {
        let keycloak = json!({"sub": "a", "realm_access": {"roles": ["admin"]}});
        assert_eq!(role_of("realm_access.roles", keycloak), Role::Admin);
        let missing = json!({"sub": "a", "realm_access": ["admin"]});
        assert_eq!(role_of("realm_access.roles", missing), Role::User);
    }

    #[test]
    fn a_claim_name_with_dots_is_read_whole_first() {
        let auth0 = json!({"sub": "a", "https://example.com/roles": ["admin"]});
        assert_eq!(role_of("https://example.com/roles", auth0), Role::Admin);
    }

    #[test]
    fn the_user_claim_can_be_any_string_claim() {
        let claims = json!({"sub": "x1", "profile": {"login": "grace"}});
        let identity = identity_of(&mapping("profile.login", "roles"), claims);
        assert_eq!(
            identity.map(|identity| identity.user),
            Ok("grace".to_owned())
        );
    }

    #[test]
    fn a_missing_empty_or_non_string_user_is_refused() {
        let mapping = mapping("sub", "roles");
        for claims in [
            json!({"roles": "admin"}),
            json!({"sub": ""}),
            json!({"sub": "  "}),
            json!({"sub": 42}),
        ] {
            let result = identity_of(&mapping, claims.clone());
            assert_eq!(result, Err(TokenRejection::MissingUser), "{claims}");
        }
    }
}
