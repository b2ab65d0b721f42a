package email_test

import (
	"io"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/aco-dev/aco/plugins"
	"github.com/aco-dev/aco/plugins/notifier/email"
	"github.com/aco-dev/aco/plugins/pluginstest"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pluginstest.Cleanup()
	os.Exit(code)
}

func config(s *smtpServer) email.Config {
	host, port, _ := net.SplitHostPort(s.Addr)
	p, _ := strconv.Atoi(port)
	return email.Config{
		Host: host, Port: p, Username: "aco-bot", Password: "hunter2",
		From: "aco <aco@example.org>", To: []string{"maintainers@example.org", "Ops <ops@example.org>"},
		CAFile: s.CAFile,
	}
}

// lastMail reads the last mail the server got, decoded as a reader would see
// it, after checking its envelope and headers.
func lastMail(s *smtpServer) func(t *testing.T) string {
	return func(t *testing.T) string {
		t.Helper()
		got := s.received()
		if len(got) == 0 {
			t.Fatal("the SMTP server got no mail")
		}
		m := got[len(got)-1]
		if m.from != "aco@example.org" || !reflect.DeepEqual(m.rcpt, []string{"maintainers@example.org", "ops@example.org"}) {
			t.Errorf("envelope from %q to %v", m.from, m.rcpt)
		}
		msg, err := mail.ReadMessage(strings.NewReader(m.data))
		if err != nil {
			t.Fatalf("the mail does not parse: %v\n%s", err, m.data)
		}
		subject, err := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		if err != nil {
			t.Fatal(err)
		}
		if msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
			t.Fatalf("headers: %v", msg.Header)
		}
		body, err := io.ReadAll(quotedprintable.NewReader(msg.Body))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(body), "openai 3.51.0 -> 3.52.0: 2 breaking, 0 to review, 1 informational.") ||
			!strings.Contains(string(body), "Changelog and release links:") {
			t.Errorf("the body lacks the summary or the links heading:\n%s", body)
		}
		return subject + "\n" + string(body)
	}
}

func TestEmail(t *testing.T) {
	s := startSMTP(t, "aco-bot", "hunter2", false)
	cfg := config(s)
	t.Run("in process", func(t *testing.T) {
		n, err := email.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.NotifierSuite(t, n, lastMail(s))
	})
	t.Run("plugin", func(t *testing.T) {
		os.Setenv("ACO_TEST_SMTP_PASSWORD", cfg.Password)
		defer os.Unsetenv("ACO_TEST_SMTP_PASSWORD")
		h := plugins.NewHost(plugins.HostOptions{
			Dirs: []string{pluginstest.Build(t, "aco-plugin-notifier-email")},
			Config: plugins.Config{Notifiers: map[string]map[string]any{"email": {
				"host": cfg.Host, "port": cfg.Port, "username": cfg.Username, "password_env": "ACO_TEST_SMTP_PASSWORD",
				"from": cfg.From, "to": cfg.To, "ca_file": cfg.CAFile,
			}}},
		})
		defer h.Close()
		n, err := h.Notifier("email")
		if err != nil {
			t.Fatal(err)
		}
		pluginstest.NotifierSuite(t, n, lastMail(s))
	})
}

func TestEmailRefusals(t *testing.T) {
	good := startSMTP(t, "aco-bot", "hunter2", false)
	plain := startSMTP(t, "aco-bot", "hunter2", true)
	for _, tc := range []struct {
		name string
		edit func(*email.Config)
		want string
	}{
		{"no STARTTLS", func(c *email.Config) { *c = config(plain) }, "does not offer STARTTLS"},
		{"wrong password", func(c *email.Config) { c.Password = "nope" }, "AUTH as aco-bot: 535"},
		{"untrusted certificate", func(c *email.Config) { c.CAFile = "" }, "STARTTLS: tls: failed to verify certificate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := config(good)
			tc.edit(&cfg)
			n, err := email.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			_, err = n.Notify(t.Context(), pluginstest.SampleReport())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want %q", err, tc.want)
			}
		})
	}
	if n := len(good.received()) + len(plain.received()); n != 0 {
		t.Errorf("%d mails were delivered despite the refusals", n)
	}
}

func TestEmailConfig(t *testing.T) {
	for _, tc := range []struct{ json, want string }{
		{`{}`, "email.host is not set"},
		{`{"host":"h","from":"aco@example.org"}`, "email.to is empty"},
		{`{"host":"h","from":"not an address","to":["a@b.c"]}`, "email.from \"not an address\" is not a mail address"},
		{`{"host":"h","from":"a@b.c","to":["a@b.c"],"username":"u"}`, "no password"},
		{`{"host":"h","from":"a@b.c","to":["a@b.c"],"hots":"x"}`, `unknown field "hots"`},
	} {
		if _, err := email.Open([]byte(tc.json)); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Open(%s) = %v, want %q", tc.json, err, tc.want)
		}
	}
}

// A title with a line break cannot add headers to the mail.
func TestSubjectInjection(t *testing.T) {
	n, err := email.New(email.Config{Host: "h", From: "a@b.c", To: []string{"d@e.f"}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := n.Message(plugins.Report{Title: "x\r\nBcc: victim@example.org"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := mail.ReadMessage(strings.NewReader(string(msg)))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("Bcc") != "" {
		t.Errorf("the title added a header: %v", m.Header)
	}
}
