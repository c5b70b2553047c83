public enum SealPackagePlaceholder {}
