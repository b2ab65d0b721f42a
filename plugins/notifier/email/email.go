// Package email is a notifier that mails the apiwatch report (findings and
// changelog links) over SMTP. It always upgrades the connection with
// STARTTLS and refuses servers that do not offer it: the password and the
// report must not cross the network in the clear.
package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aco-dev/aco/plugins"
)

// Config is plugins.notifiers.email in config.yaml.
type Config struct {
	Host     string `json:"host"`
	Port     int    `json:"port"` // default 587 (submission)
	Username string `json:"username"`
	Password string `json:"password"`
	// PasswordEnv names an environment variable holding the password, to keep
	// it out of config.yaml.
	PasswordEnv string   `json:"password_env"`
	From        string   `json:"from"`
	To          []string `json:"to"`
	// CAFile is a PEM bundle to trust instead of the system's (a company CA,
	// or a test server's self-signed certificate).
	CAFile string `json:"ca_file"`
}

// Notifier mails reports.
type Notifier struct {
	cfg  Config
	tls  *tls.Config
	from *mail.Address
	to   []*mail.Address
	now  func() time.Time
}

// New checks cfg and returns a notifier.
func New(cfg Config) (*Notifier, error) {
	if cfg.Host == "" {
		return nil, errors.New("plugins.notifiers.email.host is not set (the SMTP server)")
	}
	if cfg.Port == 0 {
		cfg.Port = 587
	}
	if cfg.PasswordEnv != "" && cfg.Password == "" {
		cfg.Password = os.Getenv(cfg.PasswordEnv)
	}
	if cfg.Username != "" && cfg.Password == "" {
		return nil, errors.New("plugins.notifiers.email: username is set but no password (set password or password_env)")
	}
	from, err := mail.ParseAddress(cfg.From)
	if err != nil {
		return nil, fmt.Errorf("plugins.notifiers.email.from %q is not a mail address: %v", cfg.From, err)
	}
	if len(cfg.To) == 0 {
		return nil, errors.New("plugins.notifiers.email.to is empty: list who gets the reports")
	}
	var to []*mail.Address
	for _, t := range cfg.To {
		a, err := mail.ParseAddress(t)
		if err != nil {
			return nil, fmt.Errorf("plugins.notifiers.email.to: %q is not a mail address: %v", t, err)
		}
		to = append(to, a)
	}
	tc := &tls.Config{ServerName: cfg.Host, MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		pem, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("plugins.notifiers.email.ca_file: %v", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("plugins.notifiers.email.ca_file %s holds no PEM certificate", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	return &Notifier{cfg: cfg, tls: tc, from: from, to: to, now: time.Now}, nil
}

// Open is the plugin's entry: the config section as JSON.
func Open(config []byte) (plugins.Notifier, error) {
	var cfg Config
	if err := plugins.DecodeConfig(config, &cfg); err != nil {
		return nil, err
	}
	return New(cfg)
}

func (n *Notifier) Notify(ctx context.Context, r plugins.Report) (plugins.Delivery, error) {
	msg, err := n.Message(r)
	if err != nil {
		return plugins.Delivery{}, err
	}
	addr := net.JoinHostPort(n.cfg.Host, strconv.Itoa(n.cfg.Port))
	if err := n.send(ctx, addr, msg); err != nil {
		return plugins.Delivery{}, fmt.Errorf("mail via %s: %w", addr, err)
	}
	var rcpt []string
	for _, a := range n.to {
		rcpt = append(rcpt, a.Address)
	}
	return plugins.Delivery{Target: fmt.Sprintf("mail to %s via %s", strings.Join(rcpt, ", "), addr)}, nil
}

func (n *Notifier) send(ctx context.Context, addr string, msg []byte) error {
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	// net/smtp knows no context: the deadline and a cancellation both end
	// the connection, which ends whatever command is waiting.
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, n.cfg.Host)
	if err != nil {
		conn.Close()
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		return errors.New("the server does not offer STARTTLS; aco does not send mail in the clear")
	}
	if err := c.StartTLS(n.tls); err != nil {
		return fmt.Errorf("STARTTLS: %w", err)
	}
	if n.cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", n.cfg.Username, n.cfg.Password, n.cfg.Host)); err != nil {
			return fmt.Errorf("AUTH as %s: %w", n.cfg.Username, err)
		}
	}
	if err := c.Mail(n.from.Address); err != nil {
		return err
	}
	for _, a := range n.to {
		if err := c.Rcpt(a.Address); err != nil {
			return fmt.Errorf("RCPT %s: %w", a.Address, err)
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	if err := c.Quit(); err != nil {
		return err
	}
	return ctx.Err()
}

// Message is the mail: headers, then a plain-text body with the summary,
// the findings as apiwatch wrote them and the changelog links.
func (n *Notifier) Message(r plugins.Report) ([]byte, error) {
	var body strings.Builder
	if r.SDK != "" {
		fmt.Fprintf(&body, "%s %s -> %s: %d breaking, %d to review, %d informational.\n\n",
			r.SDK, r.FromVersion, r.ToVersion, r.Breaking, r.Review, r.Info)
	}
	if md := strings.TrimSpace(r.Markdown); md != "" {
		body.WriteString(md + "\n\n")
	}
	if len(r.Links) > 0 {
		body.WriteString("Changelog and release links:\n")
		for _, l := range r.Links {
			fmt.Fprintf(&body, "- %s: %s\n", l.Label, l.URL)
		}
	}
	var qp bytes.Buffer
	w := quotedprintable.NewWriter(&qp)
	if _, err := w.Write([]byte(body.String())); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	var to []string
	for _, a := range n.to {
		to = append(to, a.String())
	}
	id := make([]byte, 12)
	rand.Read(id)
	var m bytes.Buffer
	// Header values come from the report: mime encoding of the subject and
	// parsed addresses keep a newline in them from adding headers.
	fmt.Fprintf(&m, "From: %s\r\n", n.from.String())
	fmt.Fprintf(&m, "To: %s\r\n", strings.Join(to, ", "))
	fmt.Fprintf(&m, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", strings.Join(strings.Fields(r.Title), " ")))
	fmt.Fprintf(&m, "Date: %s\r\n", n.now().Format(time.RFC1123Z))
	fmt.Fprintf(&m, "Message-ID: <%s@aco>\r\n", hex.EncodeToString(id))
	m.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	m.Write(qp.Bytes())
	return m.Bytes(), nil
}
