"""What every part uses: typed parameters, outputs written all or none, errors with their exit statuses,
interrupts as one line, the quiet TensorFlow import, the machine record, and how a stage runs."""
