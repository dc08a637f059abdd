{
  "targets": [
    {
      "target_name": "netmirror_native",
      "sources": ["csrc/addon.cc", "csrc/args.cc", "csrc/bpf.cc", "csrc/sockets.cc", "csrc/memory.cc", "csrc/fd-watch.cc", "csrc/afpacket.cc", "csrc/xdp.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra"],
      "libraries": ["-lpcap", "-lxdp", "-lbpf"]
    }
  ]
}
