"""Generated from proto/nameserver/v1 by scripts/generate.sh (npm run generate); do not edit."""
