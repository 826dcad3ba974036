"""Codebase index: scanning, tree-sitter chunking, LanceDB storage and search."""
