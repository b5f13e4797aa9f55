std = "max"
max_line_length = 120
files["spec/**/*.lua"] = { std = "+busted" }
files["lua/zlock/ngx/**/*.lua"] = { globals = { "ngx" } }
files["examples/openresty/**/*.lua"] = { globals = { "ngx" } }
exclude_files = { "build/**", "luarocks-tree/**" }
files["examples/haproxy/**/*.lua"] = { globals = { "core" } }
files["spec/hosts/haproxy_rpc.lua"] = { globals = { "core" } }
files["examples/apache/**/*.lua"] = { globals = { "apache2", "handle" } }
-- No function in the library above cyclomatic complexity 20.
files["lua/**/*.lua"] = { max_cyclomatic_complexity = 20 }
