//go:build e2e

/*
Copyright 2026 The aipm-operator Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"golang.org/x/crypto/bcrypt"

	"github.com/aipm-io/aipm-operator/internal/prom"
)

// selfSignedCA writes a CA and a serving certificate for 127.0.0.1 signed by
// it into dir, and returns the paths of the CA, the certificate and its key.
func selfSignedCA(dir string) (ca, cert, key string) {
	GinkgoHelper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	caTpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "aipm e2e CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTpl, caTpl, &caKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	srvKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	srvTpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "prometheus"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		KeyUsage: x509.KeyUsageDigitalSignature}
	srvDER, err := x509.CreateCertificate(rand.Reader, srvTpl, caTpl, &srvKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(srvKey)
	Expect(err).NotTo(HaveOccurred())
	write := func(name, typ string, der []byte) string {
		p := filepath.Join(dir, name)
		Expect(os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600)).To(Succeed())
		return p
	}
	return write("ca.pem", "CERTIFICATE", caDER), write("server.pem", "CERTIFICATE", srvDER), write("server-key.pem", "EC PRIVATE KEY", keyDER)
}

var _ = Describe("Prometheus as users run it", func() {
	It("queries a real Prometheus that demands TLS and basic authentication, with the operator's client options", func() {
		dir := GinkgoT().TempDir()
		ca, cert, key := selfSignedCA(dir)
		hash, err := bcrypt.GenerateFromPassword([]byte("s3cret"), bcrypt.MinCost)
		Expect(err).NotTo(HaveOccurred())
		webConfig := filepath.Join(dir, "web.yml")
		Expect(os.WriteFile(webConfig, []byte("tls_server_config:\n  cert_file: "+cert+"\n  key_file: "+key+
			"\nbasic_auth_users:\n  aipm: "+string(hash)+"\n"), 0o600)).To(Succeed())
		config := filepath.Join(dir, "prometheus.yml")
		Expect(os.WriteFile(config, []byte("global: {scrape_interval: 1m}\n"), 0o600)).To(Succeed())
		addr := freePort()
		start(ensurePrometheus(), "--config.file="+config, "--web.config.file="+webConfig, "--web.listen-address="+addr,
			"--storage.tsdb.path="+filepath.Join(dir, "data"))

		password := filepath.Join(dir, "password")
		Expect(os.WriteFile(password, []byte("s3cret\n"), 0o600)).To(Succeed())
		url := "https://" + addr
		q, err := prom.NewClientWith(url, 5*time.Second, prom.Auth{CAFile: ca, BasicAuthUser: "aipm", BasicAuthPasswordFile: password,
			Headers: map[string]string{"X-Scope-OrgID": "team-a"}})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func() (float64, error) { return q.Query(context.Background(), "vector(42)") }).Should(Equal(42.0))

		By("and is refused by it without the password or the CA")
		wrong := filepath.Join(dir, "wrong")
		Expect(os.WriteFile(wrong, []byte("guess"), 0o600)).To(Succeed())
		for what, auth := range map[string]prom.Auth{
			"a wrong password": {CAFile: ca, BasicAuthUser: "aipm", BasicAuthPasswordFile: wrong},
			"no password":      {CAFile: ca},
			"no CA":            {BasicAuthUser: "aipm", BasicAuthPasswordFile: password},
		} {
			q, err := prom.NewClientWith(url, 5*time.Second, auth)
			Expect(err).NotTo(HaveOccurred())
			_, err = q.Query(context.Background(), "vector(42)")
			Expect(err).To(HaveOccurred(), what)
		}
	})
})
