enum _PlaceholderVideogateApp {}
