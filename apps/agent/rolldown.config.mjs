// The `netmirror` command as one JavaScript file: loading ~70 small modules
// cost about 50 ms of every run's start-up. The native addon and YAML (loaded
// on demand) stay outside the bundle, and so do serialport and usb (their
// native bindings are found at run time).
export default {
  input: 'dist/cli/main.js',
  platform: 'node',
  external: [/\.node$/, /^node:/, 'yaml', 'serialport', /^@serialport\//, 'usb', /^usb\//],
  output: { file: 'dist/netmirror.mjs', format: 'esm' },
  logLevel: 'warn',
};
