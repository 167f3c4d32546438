"""Test fakes that speak real protocols over loopback (not product code)."""
