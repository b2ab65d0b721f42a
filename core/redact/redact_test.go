package redact_test

import (
	"maps"
	"testing"

	"github.com/aco-dev/aco/core/redact"
)

func TestValue(t *testing.T) {
	tests := []struct {
		name, value, want string
	}{
		// Provider variables.
		{"OPENAI_API_KEY", "sk-proj-abc", redact.Redacted},
		{"ANTHROPIC_API_KEY", "x", redact.Redacted},
		{"GOOGLE_API_KEY", "x", redact.Redacted},
		{"GEMINI_API_KEY", "x", redact.Redacted},
		{"TOGETHER_API_KEY", "x", redact.Redacted},
		{"AZURE_OPENAI_API_KEY", "x", redact.Redacted},
		{"HF_TOKEN", "x", redact.Redacted},
		{"AWS_ACCESS_KEY_ID", "x", redact.Redacted},
		{"AWS_SECRET_ACCESS_KEY", "x", redact.Redacted},
		{"AWS_SESSION_TOKEN", "x", redact.Redacted},
		{"GITHUB_TOKEN", "x", redact.Redacted},

		// Naming rules, any case.
		{"my_service_apikey", "x", redact.Redacted},
		{"Db_Password", "x", redact.Redacted},
		{"PGPASSWORD", "x", redact.Redacted},
		{"SMTP_PASSWD", "x", redact.Redacted},
		{"MYSQL_PWD", "x", redact.Redacted},
		{"CLIENT_SECRET", "x", redact.Redacted},
		{"GPG_PASSPHRASE", "x", redact.Redacted},
		{"GOOGLE_APPLICATION_CREDENTIALS", "/k.json", redact.Redacted},
		{"SESSION_COOKIE", "x", redact.Redacted},
		{"PROXY_AUTH", "x", redact.Redacted},
		{"HTTP_AUTHORIZATION", "Bearer x", redact.Redacted},
		{"SLACK_ACCESSTOKEN", "x", redact.Redacted},

		// Not secrets, though near the rules.
		{"PATH", "/usr/bin:/bin", "/usr/bin:/bin"},
		{"HOME", "/home/u", "/home/u"},
		{"PWD", "/work", "/work"},
		{"OLDPWD", "/tmp", "/tmp"},
		{"SSH_AUTH_SOCK", "/tmp/ssh.sock", "/tmp/ssh.sock"},
		{"GIT_AUTHOR_NAME", "Ada", "Ada"},
		{"TOKENIZERS_PARALLELISM", "false", "false"},
		{"XDG_SESSION_ID", "3", "3"},
		{"DESKTOP_SESSION", "gnome", "gnome"},
		{"DBUS_SESSION_BUS_ADDRESS", "unix:path=/run/bus", "unix:path=/run/bus"},
		{"KEYTIMEOUT", "1", "1"},
		{"LANG", "C.UTF-8", "C.UTF-8"},
		{"OPENAI_BASE_URL", "http://127.0.0.1:8000/v1", "http://127.0.0.1:8000/v1"},
		{"EMPTY_API_KEY", "", ""},

		// Values shaped like keys, under innocent names.
		{"MY_CONFIG", "sk-ant-api03-abcdefghijklmnopqrstuvwxyz", redact.Redacted},
		{"X", "ghp_abcdefghijklmnopqrstuvwxyz0123", redact.Redacted},
		{"X", "hf_abcdefghijklmnopqrstuvwxyz", redact.Redacted},
		{"X", "AKIAABCDEFGHIJKLMNOP", redact.Redacted},
		{"X", "sk-short", "sk-short"},
		{"X", "a sentence with sk-abcdefghijklmnopqrstu in it", "a sentence with sk-abcdefghijklmnopqrstu in it"},

		// Credentials in URLs, in any variable.
		{"DATABASE_URL", "postgres://app:hunter2@db:5432/app", "postgres://app:" + redact.Redacted + "@db:5432/app"},
		{"HTTPS_PROXY", "http://u:p%40ss@proxy:3128", "http://u:" + redact.Redacted + "@proxy:3128"},
		{"PIP_EXTRA_INDEX_URL", "https://a:b@one/simple https://c:d@two/simple",
			"https://a:" + redact.Redacted + "@one/simple https://c:" + redact.Redacted + "@two/simple"},
		{"REPO", "https://token@github.com/x/y", "https://token@github.com/x/y"},
		{"SITE", "http://host:8080/path@v1", "http://host:8080/path@v1"},
		{"SITE", "https://example.com/a", "https://example.com/a"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			if got := redact.Value(tt.name, tt.value); got != tt.want {
				t.Errorf("Value(%q, %q) = %q, want %q", tt.name, tt.value, got, tt.want)
			}
		})
	}
}

func TestEnvCopies(t *testing.T) {
	env := map[string]string{"OPENAI_API_KEY": "sk-x", "HOME": "/home/u"}
	orig := maps.Clone(env)
	got := redact.Env(env)
	if !maps.Equal(env, orig) {
		t.Errorf("Env modified its argument: %v", env)
	}
	want := map[string]string{"OPENAI_API_KEY": redact.Redacted, "HOME": "/home/u"}
	if !maps.Equal(got, want) {
		t.Errorf("Env = %v, want %v", got, want)
	}
	if redact.Env(nil) != nil {
		t.Error("Env(nil) should be nil")
	}
}

func TestIsRedacted(t *testing.T) {
	tests := []struct {
		v    string
		want bool
	}{
		{redact.Redacted, true},
		{"postgres://app:" + redact.Redacted + "@db/app", true},
		{"", false},
		{"/usr/bin", false},
		{"redacted", false},
	}
	for _, tt := range tests {
		if got := redact.IsRedacted(tt.v); got != tt.want {
			t.Errorf("IsRedacted(%q) = %v, want %v", tt.v, got, tt.want)
		}
	}
	// Everything Env redacts must be recognisable, or a rerun would run
	// with the marker as a real value.
	for name, value := range map[string]string{
		"OPENAI_API_KEY": "sk-x",
		"DATABASE_URL":   "mysql://u:p@h/db",
		"X":              "ghp_abcdefghijklmnopqrstuvwxyz0123",
	} {
		if got := redact.Value(name, value); !redact.IsRedacted(got) {
			t.Errorf("Value(%q, %q) = %q, not recognised by IsRedacted", name, value, got)
		}
	}
}
