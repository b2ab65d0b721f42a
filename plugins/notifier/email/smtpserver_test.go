package email_test

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// smtpServer is a minimal SMTP submission server for the tests: EHLO,
// STARTTLS with a certificate made for the test, AUTH PLAIN, MAIL, RCPT,
// DATA, QUIT. It refuses AUTH and MAIL before TLS, and MAIL before AUTH,
// as a careful real server would.
type smtpServer struct {
	Addr   string
	CAFile string // PEM of the server's self-signed certificate

	user, pass string
	noTLS      bool // do not offer STARTTLS
	tls        *tls.Config
	ln         net.Listener
	wg         sync.WaitGroup

	mu   sync.Mutex
	mail []received
}

type received struct {
	from string
	rcpt []string
	data string
}

func startSMTP(t *testing.T, user, pass string, noTLS bool) *smtpServer {
	t.Helper()
	cert, caFile := selfSigned(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &smtpServer{
		Addr: ln.Addr().String(), CAFile: caFile, user: user, pass: pass, noTLS: noTLS,
		tls: &tls.Config{Certificates: []tls.Certificate{cert}}, ln: ln,
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(30 * time.Second))
				s.session(conn)
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		s.wg.Wait()
	})
	return s
}

func (s *smtpServer) received() []received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]received(nil), s.mail...)
}

func (s *smtpServer) session(conn net.Conn) {
	r := bufio.NewReader(conn)
	reply := func(lines ...string) {
		for _, l := range lines {
			conn.Write([]byte(l + "\r\n"))
		}
	}
	reply("220 test.example ESMTP")
	secure, authed := false, false
	var cur received
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO", "HELO":
			switch {
			case !secure && !s.noTLS:
				reply("250-test.example", "250 STARTTLS")
			case secure:
				reply("250-test.example", "250 AUTH PLAIN")
			default:
				reply("250-test.example", "250 AUTH PLAIN")
			}
		case "STARTTLS":
			if s.noTLS || secure {
				reply("502 not now")
				continue
			}
			reply("220 go ahead")
			tc := tls.Server(conn, s.tls)
			if err := tc.Handshake(); err != nil {
				return
			}
			conn, r, secure = tc, bufio.NewReader(tc), true
		case "AUTH":
			if !secure {
				reply("530 must issue STARTTLS first")
				continue
			}
			mech, resp, _ := strings.Cut(arg, " ")
			raw, err := base64.StdEncoding.DecodeString(resp)
			parts := strings.Split(string(raw), "\x00")
			if strings.ToUpper(mech) != "PLAIN" || err != nil || len(parts) != 3 || parts[1] != s.user || parts[2] != s.pass {
				reply("535 5.7.8 authentication credentials invalid")
				continue
			}
			authed = true
			reply("235 2.7.0 authenticated")
		case "MAIL":
			if !secure || !authed {
				reply("530 5.7.0 authentication required")
				continue
			}
			cur = received{from: addrOf(arg)}
			reply("250 ok")
		case "RCPT":
			cur.rcpt = append(cur.rcpt, addrOf(arg))
			reply("250 ok")
		case "DATA":
			reply("354 end with .")
			var data strings.Builder
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			cur.data = data.String()
			s.mu.Lock()
			s.mail = append(s.mail, cur)
			s.mu.Unlock()
			reply("250 queued")
		case "QUIT":
			reply("221 bye")
			return
		default:
			reply("500 unknown command")
		}
	}
}

func addrOf(arg string) string {
	_, a, _ := strings.Cut(arg, ":")
	return strings.Trim(a, "<> ")
}

// selfSigned makes a certificate for 127.0.0.1 and returns it with the path
// of its PEM, for the notifier to trust.
func selfSigned(t *testing.T) (tls.Certificate, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "aco test SMTP"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IsCA:         true, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "smtp-ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, path
}
