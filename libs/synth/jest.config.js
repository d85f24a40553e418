module.exports = {
  displayName: 'synth',
  preset: '../../jest.preset.js',
  rootDir: '.',
};
