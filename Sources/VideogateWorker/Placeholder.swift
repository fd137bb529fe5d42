enum _PlaceholderVideogateWorker {}
