// Package redact removes secrets from a program's environment before aco
// stores it. A run's environment is kept so that a rerun can reproduce it,
// but the store may be shared with a team (PostgreSQL) or copied around, so
// API keys, passwords and tokens must never reach it. A rerun fills redacted
// values from the environment of whoever starts it.
package redact

import (
	"regexp"
	"strings"
)

// Redacted replaces a secret value, or the secret part of one.
const Redacted = "[redacted]"

// Env returns a copy of env in which secret values are replaced by Redacted:
// every value of a variable whose name says it holds a secret, values that
// look like a provider's API key whatever the name, and the password of any
// URL with credentials (https://user:pass@host keeps the user and host).
// env itself is not modified.
func Env(env map[string]string) map[string]string {
	if env == nil {
		return nil
	}
	out := make(map[string]string, len(env))
	for name, value := range env {
		out[name] = Value(name, value)
	}
	return out
}

// Value returns value redacted as Env would redact it under name.
func Value(name, value string) string {
	if value == "" {
		// Nothing to hide, and an empty value tells a reader more than a marker.
		return value
	}
	if SecretName(name) || looksLikeKey(value) {
		return Redacted
	}
	return urlPassword.ReplaceAllString(value, "${1}"+Redacted+"${3}")
}

// IsRedacted reports whether v had (part of) its value removed by Env, so
// that a rerun knows to take the value from its own environment instead.
func IsRedacted(v string) bool {
	return strings.Contains(v, Redacted)
}

// knownSecrets are providers' variables, listed so that they stay redacted
// even if the naming rules below are ever narrowed.
var knownSecrets = map[string]bool{
	"OPENAI_API_KEY":          true,
	"AZURE_OPENAI_API_KEY":    true,
	"ANTHROPIC_API_KEY":       true,
	"ANTHROPIC_AUTH_TOKEN":    true,
	"GOOGLE_API_KEY":          true,
	"GEMINI_API_KEY":          true,
	"TOGETHER_API_KEY":        true,
	"MISTRAL_API_KEY":         true,
	"COHERE_API_KEY":          true,
	"GROQ_API_KEY":            true,
	"DEEPSEEK_API_KEY":        true,
	"OPENROUTER_API_KEY":      true,
	"XAI_API_KEY":             true,
	"REPLICATE_API_TOKEN":     true,
	"HF_TOKEN":                true,
	"HUGGING_FACE_HUB_TOKEN":  true,
	"WANDB_API_KEY":           true,
	"LANGCHAIN_API_KEY":       true,
	"AWS_ACCESS_KEY_ID":       true,
	"AWS_SECRET_ACCESS_KEY":   true,
	"AWS_SESSION_TOKEN":       true,
	"AZURE_CLIENT_SECRET":     true,
	"GITHUB_TOKEN":            true,
	"GH_TOKEN":                true,
	"NPM_TOKEN":               true,
	"PYPI_TOKEN":              true,
	"TWINE_PASSWORD":          true,
	"PGPASSWORD":              true,
	"MYSQL_PWD":               true,
	"SLACK_BOT_TOKEN":         true,
	"DATABRICKS_TOKEN":        true,
	"GOOGLE_CLOUD_API_KEY":    true,
	"VERTEX_API_KEY":          true,
	"CO_API_KEY":              true,
	"FIREWORKS_API_KEY":       true,
	"PERPLEXITY_API_KEY":      true,
	"LANGSMITH_API_KEY":       true,
	"PINECONE_API_KEY":        true,
	"TAVILY_API_KEY":          true,
	"SERPAPI_API_KEY":         true,
	"ELEVENLABS_API_KEY":      true,
	"VOYAGE_API_KEY":          true,
	"OPENAI_ADMIN_KEY":        true,
	"ANTHROPIC_ADMIN_API_KEY": true,
}

// notSecrets match the naming rules but hold no secret; redacting them would
// only make a rerun's environment differ for nothing.
var notSecrets = map[string]bool{
	"PWD":           true, // the working directory, not a password
	"OLDPWD":        true,
	"SSH_AUTH_SOCK": true, // a socket path; the keys stay in the agent
}

// secretSuffixes end a name part that holds a secret: API_KEY, APIKEY,
// ACCESSTOKEN, PGPASSWORD, MYSQL_PWD. Suffixes rather than substrings keep
// TOKENIZERS_PARALLELISM and KEYBOARD-like names readable.
var secretSuffixes = []string{
	"KEY", "KEYS", "TOKEN", "TOKENS", "SECRET", "SECRETS",
	"PASSWORD", "PASSWD", "PWD", "PASSPHRASE",
	"CREDENTIAL", "CREDENTIALS", "COOKIE", "COOKIES",
}

// secretParts are whole name parts that mean a secret. AUTH is whole only,
// so GIT_AUTHOR_NAME stays; SESSION is left out on purpose, as
// XDG_SESSION_ID, DESKTOP_SESSION and DBUS_SESSION_BUS_ADDRESS are not
// secrets (session tokens end in TOKEN anyway).
var secretParts = map[string]bool{
	"AUTH": true, "AUTHORIZATION": true, "AUTHN": true, "AUTHZ": true,
}

// SecretName reports whether a variable called name holds a secret, by the
// rules Env uses. Case does not matter.
func SecretName(name string) bool {
	upper := strings.ToUpper(name)
	if knownSecrets[upper] {
		return true
	}
	if notSecrets[upper] {
		return false
	}
	parts := strings.FieldsFunc(upper, func(r rune) bool {
		return (r < 'A' || r > 'Z') && (r < '0' || r > '9')
	})
	for _, p := range parts {
		if secretParts[p] {
			return true
		}
		for _, s := range secretSuffixes {
			if strings.HasSuffix(p, s) {
				return true
			}
		}
	}
	return false
}

// keyPattern matches values shaped like well-known credentials, so a key
// kept under an innocent name (MY_CONFIG=sk-...) is still caught.
var keyPattern = regexp.MustCompile(`^(` +
	`sk-[A-Za-z0-9_-]{16,}` + // OpenAI, Anthropic (sk-ant-), DeepSeek, ...
	`|gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,}` +
	`|hf_[A-Za-z0-9]{20,}` +
	`|AKIA[0-9A-Z]{16}` +
	`|AIza[0-9A-Za-z_-]{30,}` +
	`|xox[abprs]-[A-Za-z0-9-]{10,}` +
	`)$`)

func looksLikeKey(v string) bool {
	return keyPattern.MatchString(strings.TrimSpace(v))
}

// urlPassword finds scheme://user:password@ anywhere in a value (proxy
// settings, database URLs, extra package indexes). The password stops at '/'
// so that host:port/path@x is not mistaken for a password.
var urlPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.-]*://[^\s:/@]*:)([^\s/@]+)(@)`)
