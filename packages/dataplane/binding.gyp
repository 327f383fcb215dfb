{
  "targets": [
    {
      "target_name": "dataplane",
      "sources": ["src/plane.c", "src/table.c", "src/worker.c", "src/fastpath.c", "src/sendq.c", "src/stream.c", "src/tls.c", "src/pipe.c", "src/linger.c", "src/gso.c", "src/digest.c"],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-fvisibility=hidden"],
      "conditions": [["OS!='linux'", {"type": "none"}]]
    }
  ]
}
