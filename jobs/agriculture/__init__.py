"""Agriculture sector (owner: Bộ Nông nghiệp và Môi trường): crop statistics, OCOP products, traceability."""
