package http1_test

import (
	"testing"

	"tandem/internal/config"
	"tandem/internal/http1"
)

func TestMaxHeadersIsConfigs(t *testing.T) {
	if http1.MaxHeaders != config.MaxHeaders {
		t.Errorf("http1.MaxHeaders = %d, config.MaxHeaders = %d", http1.MaxHeaders, config.MaxHeaders)
	}
}
