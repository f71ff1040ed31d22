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
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// webhookCerts writes a CA and a certificate for 127.0.0.1 it signs, as
// the webhook server reads them, and returns the CA in PEM.
func webhookCerts(dir string) []byte {
	GinkgoHelper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	ca := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "e2e webhook CA"}, IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	ca, _ = x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	Expect(err).NotTo(HaveOccurred())
	leaf := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	Expect(err).NotTo(HaveOccurred())
	keyDER, err := x509.MarshalECPrivateKey(key)
	Expect(err).NotTo(HaveOccurred())
	Expect(os.WriteFile(filepath.Join(dir, "tls.crt"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)).To(Succeed())
	Expect(os.WriteFile(filepath.Join(dir, "tls.key"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600)).To(Succeed())
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})
}

// webhookConfiguration is config/webhook's configuration, pointed at the
// operator process by URL (it listens on this machine, not behind a
// Service) with the CA that signed its certificate.
func webhookConfiguration(addr string, ca []byte) string {
	GinkgoHelper()
	raw, err := os.ReadFile(filepath.Join(root, "config", "webhook", "manifests.yaml"))
	Expect(err).NotTo(HaveOccurred())
	doc := string(raw)
	doc = strings.ReplaceAll(doc, "  name: validating-webhook-configuration", "  name: aipm-e2e-validating-webhook-configuration")
	for _, path := range []string{"/validate-lifecycle-aipm-io-v1alpha1-aiproduct", "/validate-lifecycle-aipm-io-v1alpha1-modelversion"} {
		doc = strings.Replace(doc, `    service:
      name: webhook-service
      namespace: system
      path: `+path, `    url: https://`+addr+path+`
    caBundle: `+base64.StdEncoding.EncodeToString(ca), 1)
	}
	Expect(doc).NotTo(ContainSubstring("webhook-service"))
	return doc
}

// webhookSpecs: the operator's validating webhook, on a real API server,
// refuses what the schema cannot check, naming the field, and fails closed
// while it is away.
func webhookSpecs() {
	It("refuses at admission what CEL cannot check, naming the field, and fails closed while the webhook is away", func() {
		if onKind {
			Skip("make deploy serves the webhook in the cluster; this scenario runs the operator as a process beside kwokctl")
		}
		dir := GinkgoT().TempDir()
		ca := webhookCerts(dir)
		addr := freePort()
		port := addr[strings.LastIndex(addr, ":")+1:]
		restart := func(extra ...string) {
			stopSuiteOperator()
			suiteOperator = startOperator(operatorMetricsAddr, extra...)
		}
		withWebhook := []string{"--webhooks=true", "--webhook-cert-dir", dir, "--webhook-port", port}
		restart(withWebhook...)
		DeferCleanup(func() {
			_, _ = kubectlMaybe("delete", "validatingwebhookconfiguration", "aipm-e2e-validating-webhook-configuration", "--ignore-not-found")
			restart()
		})
		Eventually(func() error {
			conn, err := tls.Dial("tcp", addr, &tls.Config{InsecureSkipVerify: true}) //nolint:gosec // only whether it listens
			if err == nil {
				err = conn.Close()
			}
			return err
		}, 60*time.Second).Should(Succeed())
		apply(webhookConfiguration(addr, ca))

		const name = "e2e-admission"
		good := func(schedule, zone, objective, guard string) string {
			return `
apiVersion: lifecycle.aipm.io/v1alpha1
kind: AIProduct
metadata: {name: ` + name + `, namespace: default, labels: {e2e: aipm}}
spec:
  phase: Strategy
` + owners + `  strategy:
    objectives:
    - {name: ctr, query: '` + objective + `', target: "0.05", direction: AtLeast}
  delivery:
    modelVersion: {policy: LatestEligible}
` + serving + `    rollout:
      steps:
      - analysis:
          objectives: [` + guard + `]
    retraining:
      schedule: "` + schedule + `"
      timeZone: ` + zone + `
      template:
        spec:
          template:
            spec:
              restartPolicy: Never
              containers: [{name: trainer, image: busybox:1.37}]
`
		}
		valid := good("30 2 * * 1-5", "Europe/Berlin", "max(model_ctr{product=$product})", "ctr")
		// The API server calls the webhook as soon as the configuration is
		// in place; until then the manifest would pass unchecked.
		Eventually(func() string {
			return applyMaybe(good("61 2 * * *", "Europe/Berlin", "max(model_ctr{product=$product})", "ctr"))
		}, 30*time.Second).Should(ContainSubstring("spec.delivery.retraining.schedule"))
		for _, tc := range []struct{ manifest, field, says string }{
			{good("61 2 * * *", "Europe/Berlin", "max(model_ctr{product=$product})", "ctr"), "spec.delivery.retraining.schedule", "above maximum (59)"},
			{good("0 25 * * *", "Europe/Berlin", "max(model_ctr{product=$product})", "ctr"), "spec.delivery.retraining.schedule", "above maximum (23)"},
			{good("0 2 * * 9", "Europe/Berlin", "max(model_ctr{product=$product})", "ctr"), "spec.delivery.retraining.schedule", "above maximum (6)"},
			{good("0 2 * * *", "Europe/Atlantis", "max(model_ctr{product=$product})", "ctr"), "spec.delivery.retraining.timeZone", "not a time zone of the tz database"},
			{good("0 2 * * *", "UTC", "max(model_ctr{product=$product}", "ctr"), "spec.strategy.objectives[0].query", "not a PromQL query"},
			{good("0 2 * * *", "UTC", "max(model_ctr{product=$product)", "ctr"), "spec.strategy.objectives[0].query", "not a PromQL query"},
			{good("0 2 * * *", "UTC", "max(model_ctr{product=$product})", "revenue"), "spec.delivery.rollout.steps[0].analysis.objectives[0]", `Not found: "revenue"`},
		} {
			out := applyMaybe(tc.manifest)
			// Only the webhook's parsers say these; the schema and CEL know
			// no cron, tz database or PromQL.
			Expect(out).To(And(ContainSubstring(`The AIProduct "`+name+`" is invalid: `+tc.field), ContainSubstring(tc.says)),
				"the refusal names %s", tc.field)
		}
		apply(valid)
		DeferCleanup(func() { _, _ = kubectlMaybe("delete", "aip/"+name, "-n", "default", "--wait=false") })

		By("the webhook away: admission fails closed, the product stays as it was")
		stopSuiteOperator()
		out := applyMaybe(good("0 3 * * *", "Europe/Berlin", "max(model_ctr{product=$product})", "ctr"))
		Expect(out).To(ContainSubstring(`failed calling webhook "vaiproduct-v1alpha1.lifecycle.aipm.io"`))
		Expect(jsonpath("aip", name, ".spec.delivery.retraining.schedule")).To(Equal("30 2 * * 1-5"))

		By("the webhook back")
		suiteOperator = startOperator(operatorMetricsAddr, withWebhook...)
		Eventually(func() string {
			return applyMaybe(good("0 3 * * *", "Europe/Berlin", "max(model_ctr{product=$product})", "ctr"))
		}, 60*time.Second).Should(ContainSubstring("configured"))
		Expect(jsonpath("aip", name, ".spec.delivery.retraining.schedule")).To(Equal("0 3 * * *"))
	})
}

// applyMaybe pipes a manifest into kubectl apply and returns what it said,
// refusal or not.
func applyMaybe(manifest string) string {
	cmd := execKubectl("apply", "-f", "-")
	cmd.Stdin = strings.NewReader(manifest)
	out, _ := cmd.CombinedOutput()
	return string(out)
}
