module.exports = {
  displayName: 'tensor-store',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
