enum _PlaceholderVideogateAPI {}
