//! What a user pastes back by hand: the whole redirect URL, Anthropic's `code#state`, or a bare code.

use super::OAuthError;

/// A code read from pasted text, with the state when the text carried one.
#[derive(Clone, PartialEq, Eq)]
pub struct Pasted {
    pub code: String,
    pub state: Option<String>,
}

impl std::fmt::Debug for Pasted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The code is a one-time credential until it is exchanged.
        f.debug_struct("Pasted")
            .field("code", &"[REDACTED]")
            .field("state", &self.state)
            .finish()
    }
}

/// Reads `http://localhost:1455/auth/callback?code=…&state=…`, `code=…&state=…`, `code#state`
/// or a bare code. A URL carrying `error=` is the provider declining the sign-in.
pub fn parse_pasted(text: &str) -> Result<Pasted, OAuthError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(OAuthError::BadPaste("nothing was pasted".into()));
    }
    let query = match url::Url::parse(text) {
        Ok(u) if u.query().is_some() => u.query().map(String::from),
        Ok(_) if text.contains("://") => {
            return Err(OAuthError::BadPaste(
                "the URL has no `code`; paste the address the browser ends on after signing in"
                    .into(),
            ))
        }
        _ if text.contains("code=") => Some(text.trim_start_matches('?').to_string()),
        _ => None,
    };
    if let Some(query) = query {
        return from_query(&query);
    }
    let (code, state) = match text.split_once('#') {
        Some((code, state)) => (code.trim(), Some(state.trim())),
        None => (text, None),
    };
    if code.is_empty() || code.chars().any(char::is_whitespace) {
        return Err(OAuthError::BadPaste(
            "expected the final URL, `code#state` or a code".into(),
        ));
    }
    Ok(Pasted {
        code: code.to_string(),
        state: state.filter(|s| !s.is_empty()).map(String::from),
    })
}

fn from_query(query: &str) -> Result<Pasted, OAuthError> {
    let mut code = None;
    let mut state = None;
    let mut error = None;
    let mut description = None;
    for (k, v) in url::form_urlencoded::parse(query.as_bytes()) {
        match k.as_ref() {
            "code" => code = Some(v.into_owned()),
            "state" => state = Some(v.into_owned()),
            "error" => error = Some(v.into_owned()),
            "error_description" => description = Some(v.into_owned()),
            _ => {}
        }
    }
    if let Some(error) = error {
        return Err(OAuthError::Denied(match description {
            Some(d) => format!("{error}: {d}"),
            None => error,
        }));
    }
    match code.filter(|c| !c.trim().is_empty()) {
        // Anthropic's code page sometimes carries `code#state` inside the code parameter.
        Some(code) => {
            let (code, inner_state) = match code.split_once('#') {
                Some((c, s)) => (c.to_string(), Some(s.to_string())),
                None => (code, None),
            };
            Ok(Pasted {
                code,
                state: state.or(inner_state).filter(|s| !s.is_empty()),
            })
        }
        None => Err(OAuthError::BadPaste("the text has no `code`".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(text: &str) -> (String, Option<String>) {
        let p = parse_pasted(text).unwrap();
        (p.code, p.state)
    }

    #[test]
    fn every_pasted_form_yields_code_and_state() {
        let both = ("c0de".to_string(), Some("st".to_string()));
        assert_eq!(
            ok(" http://localhost:1455/auth/callback?code=c0de&state=st \n"),
            both
        );
        assert_eq!(ok("code=c0de&state=st"), both);
        assert_eq!(ok("?code=c0de&state=st"), both);
        assert_eq!(ok("c0de#st"), both);
        assert_eq!(
            ok("https://platform.claude.com/oauth/code/callback?code=c0de%23st"),
            both
        );
        assert_eq!(ok("c0de"), ("c0de".to_string(), None));
    }

    #[test]
    fn errors_and_junk_are_refused_clearly() {
        let denied = parse_pasted("http://localhost:54545/callback?error=access_denied&state=x");
        assert!(matches!(denied, Err(OAuthError::Denied(ref m)) if m == "access_denied"));
        for junk in ["", "   ", "two words", "https://claude.ai/", "#state"] {
            assert!(
                matches!(parse_pasted(junk), Err(OAuthError::BadPaste(_))),
                "{junk:?}"
            );
        }
        assert!(!format!("{:?}", parse_pasted("s3cret").unwrap()).contains("s3cret"));
    }
}
