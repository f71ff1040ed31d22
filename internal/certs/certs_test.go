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

package certs

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

const host = "aipm-operator-webhook-service.aipm-operator-system.svc"

func rotator(t *testing.T, now *time.Time) (*Rotator, client.Client) {
	t.Helper()
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	secret := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "aipm-operator-system", Name: "webhook-cert"}}
	vwc := &admissionregistrationv1.ValidatingWebhookConfiguration{ObjectMeta: metav1.ObjectMeta{Name: "vwc"},
		Webhooks: []admissionregistrationv1.ValidatingWebhook{{Name: "a.lifecycle.aipm.io"}, {Name: "b.lifecycle.aipm.io"}}}
	c := fake.NewClientBuilder().WithScheme(s).WithObjects(secret, vwc).Build()
	return &Rotator{Client: c, Secret: types.NamespacedName{Namespace: "aipm-operator-system", Name: "webhook-cert"}, Webhook: "vwc",
		DNSNames: []string{host, host + ".cluster.local"}, CertDir: t.TempDir(), Now: func() time.Time { return *now }}, c
}

func secretData(t *testing.T, c client.Client) map[string][]byte {
	t.Helper()
	var s corev1.Secret
	if err := c.Get(context.Background(), types.NamespacedName{Namespace: "aipm-operator-system", Name: "webhook-cert"}, &s); err != nil {
		t.Fatal(err)
	}
	return s.Data
}

// handshake serves the written certificate over TLS and connects to it
// as the API server would: trusting only the caBundle, checking the name.
func handshake(t *testing.T, r *Rotator, c client.Client) {
	now := r.Now()
	t.Helper()
	cert, err := tls.LoadX509KeyPair(filepath.Join(r.CertDir, CertKey), filepath.Join(r.CertDir, KeyKey))
	if err != nil {
		t.Fatal(err)
	}
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if conn, err := l.Accept(); err == nil {
			_ = conn.(*tls.Conn).Handshake()
			conn.Close()
		}
	}()
	var vwc admissionregistrationv1.ValidatingWebhookConfiguration
	if err := c.Get(context.Background(), client.ObjectKey{Name: "vwc"}, &vwc); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	for _, w := range vwc.Webhooks {
		if !pool.AppendCertsFromPEM(w.ClientConfig.CABundle) {
			t.Fatalf("webhook %s has no caBundle", w.Name)
		}
	}
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", l.Addr().String(),
		&tls.Config{RootCAs: pool, ServerName: host, MinVersion: tls.VersionTLS12, Time: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("the API server could not trust the webhook: %v", err)
	}
	conn.Close()
}

func TestIssuesRenewsAndInjects(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	r, c := rotator(t, &now)
	ctx := context.Background()
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	first := secretData(t, c)
	handshake(t, r, c)

	// Nothing to do a day later: the same certificate.
	now = now.Add(24 * time.Hour)
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(secretData(t, c)[CertKey], first[CertKey]) {
		t.Fatal("a fresh certificate was replaced")
	}

	// Past two thirds of its life: a new certificate from the same CA.
	now = now.Add(250 * 24 * time.Hour)
	if err := r.Ensure(ctx); err != nil {
		t.Fatal(err)
	}
	second := secretData(t, c)
	if bytes.Equal(second[CertKey], first[CertKey]) {
		t.Fatal("an old certificate was kept")
	}
	if !bytes.Equal(second[CAKey], first[CAKey]) {
		t.Fatal("the CA was replaced with the certificate; the caBundle would change for nothing")
	}
	written, _ := os.ReadFile(filepath.Join(r.CertDir, CertKey))
	if !bytes.Equal(written, second[CertKey]) {
		t.Fatal("the server's file is not the new certificate")
	}
	handshake(t, r, c)
}

func TestAnotherReplicasCertificateIsTaken(t *testing.T) {
	now := time.Date(2026, 12, 4, 0, 0, 0, 0, time.UTC)
	r1, c := rotator(t, &now)
	if err := r1.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	// A second replica, its own directory, the same Secret.
	r2 := *r1
	r2.CertDir = t.TempDir()
	if err := r2.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(filepath.Join(r1.CertDir, CertKey))
	b, _ := os.ReadFile(filepath.Join(r2.CertDir, CertKey))
	if !bytes.Equal(a, b) {
		t.Fatal("two replicas serve different certificates")
	}
	handshake(t, &r2, c)
}

func TestWithoutAClock(t *testing.T) {
	now := time.Now()
	r, c := rotator(t, &now)
	r.Now = nil // as cmd/main.go builds it
	if err := r.Ensure(context.Background()); err != nil {
		t.Fatal(err)
	}
	if len(secretData(t, c)[CertKey]) == 0 {
		t.Fatal("no certificate issued")
	}
}

func TestAMissingSecretIsAnError(t *testing.T) {
	now := time.Now()
	r, _ := rotator(t, &now)
	r.Secret.Name = "absent"
	if err := r.Ensure(context.Background()); err == nil {
		t.Fatal("no error for a Secret that is not there; the operator may not create one")
	}
}
