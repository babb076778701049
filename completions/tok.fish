# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_tok_global_optspecs
    string join \n v/verbose store= timeout= h/help V/version
end

function __fish_tok_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_tok_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_tok_using_subcommand
    set -l cmd (__fish_tok_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c tok -n "__fish_tok_needs_command" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_needs_command" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_needs_command" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_needs_command" -s V -l version -d 'Print version'
complete -c tok -n "__fish_tok_needs_command" -f -a "login" -d 'Store credentials for a profile and fetch a first token'
complete -c tok -n "__fish_tok_needs_command" -f -a "print" -d 'Print a valid token (refreshed first when close to expiry)'
complete -c tok -n "__fish_tok_needs_command" -f -a "refresh" -d 'Get a new token now'
complete -c tok -n "__fish_tok_needs_command" -f -a "logout" -d 'Forget a profile: its settings, secrets and token'
complete -c tok -n "__fish_tok_needs_command" -f -a "status" -d 'List profiles and their tokens (no network)'
complete -c tok -n "__fish_tok_needs_command" -f -a "sign" -d 'Sign a JWT with your own key and claims, or a nelnet profile\'s NPS token'
complete -c tok -n "__fish_tok_needs_command" -f -a "inspect" -d 'Decode a JWT: header, claims, and its times as dates and "in 9m"'
complete -c tok -n "__fish_tok_needs_command" -f -a "curl" -d 'Run curl with the profile\'s header, passed without touching any command line'
complete -c tok -n "__fish_tok_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c tok -n "__fish_tok_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c tok -n "__fish_tok_using_subcommand login" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand login" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l provider -d 'The provider this profile talks to' -r -f -a "nexterpay\t''
merchant-v2\t''
nelnet\t''
n3xt\t''
netdirector\t''
netdirector-v1\t''
oauth2\t''"
complete -c tok -n "__fish_tok_using_subcommand login" -l env -d 'The provider\'s environment: sandbox|production (nexterpay), production|alpha|beta|omega (n3xt), staging|production (netdirector)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l base-url -d 'Replace the documented scheme and host (required where none is documented)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l username -d 'User name (nexterpay)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l email -d 'E-mail to log in with (merchant-v2)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l merchant-id -d 'Merchant id (merchant-v2), sent as the merchant_id header' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l client-id -d 'OAuth2 client id (n3xt, netdirector, oauth2); the secret is asked for separately' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l project -d 'N3XT project id, e.g. project-live-84ff27dd-…' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l token-url -d 'OAuth2 token endpoint (oauth2)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l auth -d 'How the client authenticates (oauth2): HTTP Basic (RFC 6749 §2.3.1) or fields in the body' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l body -d 'Token request body encoding (oauth2)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l scope -d 'Space-separated scopes (oauth2; netdirector defaults to "nop2/read nop2/write")' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l audience -d 'Audience to request (oauth2)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l transaction -d 'Transaction id whose session token to keep (netdirector-v1)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l key-id -d 'NPS API Key ID (nelnet); the API key is asked for separately' -r
complete -c tok -n "__fish_tok_using_subcommand login" -l ttl -d 'Lifetime of the tokens tok signs (nelnet; default 5m)' -r
complete -c tok -n "__fish_tok_using_subcommand login" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand login" -l api-key -d 'Use a persistent API key instead of e-mail and password (merchant-v2); the key is asked for like any secret, never taken from the command line'
complete -c tok -n "__fish_tok_using_subcommand login" -l secret-stdin -d 'Read the secret (password, client secret, API key) as one line from stdin'
complete -c tok -n "__fish_tok_using_subcommand login" -l check -d 'Prove the key with a documented request (nelnet: POST /tokenization/session, which creates a session that is left unused)'
complete -c tok -n "__fish_tok_using_subcommand login" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand print" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand print" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand print" -l min-ttl -d 'Refresh first when the token has less than this left (or 10 % of its lifetime)' -r
complete -c tok -n "__fish_tok_using_subcommand print" -l format -d 'What to print' -r -f -a "token\t'The token and a newline'
header\t'The whole header line, e.g. `Authorization: Bearer <token>`'
json\t'{"token", "header", "expires_at", "expires_in"}'
env\t'`export TOK_<PROFILE>_TOKEN=<token>` for `eval`'"
complete -c tok -n "__fish_tok_using_subcommand print" -l var -d 'Variable name for --format env' -r
complete -c tok -n "__fish_tok_using_subcommand print" -l github-env -d 'In GitHub Actions: append NAME=<value> to $GITHUB_ENV and print only ::add-mask::<token>' -r
complete -c tok -n "__fish_tok_using_subcommand print" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand print" -l secret-stdin -d 'Read the secret as one line from stdin, if one is needed'
complete -c tok -n "__fish_tok_using_subcommand print" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c tok -n "__fish_tok_using_subcommand refresh" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand refresh" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand refresh" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand refresh" -l secret-stdin -d 'Read the secret as one line from stdin, if one is needed'
complete -c tok -n "__fish_tok_using_subcommand refresh" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand logout" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand logout" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand logout" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand logout" -l all -d 'Forget every profile'
complete -c tok -n "__fish_tok_using_subcommand logout" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand status" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand status" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand status" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand status" -l json -d 'Print JSON instead of a table'
complete -c tok -n "__fish_tok_using_subcommand status" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand sign" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand sign" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l alg -d 'Signing algorithm: HS256/384/512 (raw key bytes), RS256/384/512, PS256/384/512, ES256/384, EdDSA (PEM private key)' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l key-file -d 'Read the key from this file' -r -F
complete -c tok -n "__fish_tok_using_subcommand sign" -l key-env -d 'Read the key from this environment variable' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l sub -d 'Subject claim' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l iss -d 'Issuer claim' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l aud -d 'Audience claim' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l ttl -d 'Expire this long after now (a bare number is seconds)' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l exp -d 'Expire at this time: RFC 3339 or Unix seconds' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l claim -d 'A claim; V is read as JSON when it parses (42, true, ["a"]), else as a string' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l claims-json -d 'Claims from a JSON object in FILE, or on stdin with -' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -l kid -d 'Key id for the header' -r
complete -c tok -n "__fish_tok_using_subcommand sign" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand sign" -l key-stdin -d 'Read the key from stdin (one trailing newline is dropped)'
complete -c tok -n "__fish_tok_using_subcommand sign" -l no-iat -d 'Leave out the iat claim'
complete -c tok -n "__fish_tok_using_subcommand sign" -l secret-stdin -d 'With a nelnet profile: read the API key as one line from stdin, if one is needed'
complete -c tok -n "__fish_tok_using_subcommand sign" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand inspect" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand inspect" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand inspect" -l profile -d 'Inspect the token stored for this profile' -r
complete -c tok -n "__fish_tok_using_subcommand inspect" -l key-file -d 'The verification key: raw bytes for HMAC, a PEM public key otherwise' -r -F
complete -c tok -n "__fish_tok_using_subcommand inspect" -l key-env -d 'The verification key from this environment variable' -r
complete -c tok -n "__fish_tok_using_subcommand inspect" -l alg -d 'Accept only this algorithm (the key\'s family is enforced either way)' -r
complete -c tok -n "__fish_tok_using_subcommand inspect" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand inspect" -l json -d 'Print JSON: header, payload, times and an expired flag'
complete -c tok -n "__fish_tok_using_subcommand inspect" -l verify -d 'Check the signature (exit 4 when it does not match or the token is unsigned)'
complete -c tok -n "__fish_tok_using_subcommand inspect" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand curl" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand curl" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand curl" -l min-ttl -d 'Refresh first when the token has less than this left (or 10 % of its lifetime)' -r
complete -c tok -n "__fish_tok_using_subcommand curl" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand curl" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand completions" -l store -d 'Where secrets and tokens are kept: keyring or file [default: the profile\'s, or keyring]' -r -f -a "keyring\t''
file\t''"
complete -c tok -n "__fish_tok_using_subcommand completions" -l timeout -d 'Limit for one HTTP exchange, e.g. 30s or 1m' -r
complete -c tok -n "__fish_tok_using_subcommand completions" -s v -l verbose -d 'Say what tok does, on stderr (secrets are never shown)'
complete -c tok -n "__fish_tok_using_subcommand completions" -s h -l help -d 'Print help'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "login" -d 'Store credentials for a profile and fetch a first token'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "print" -d 'Print a valid token (refreshed first when close to expiry)'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "refresh" -d 'Get a new token now'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "logout" -d 'Forget a profile: its settings, secrets and token'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "status" -d 'List profiles and their tokens (no network)'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "sign" -d 'Sign a JWT with your own key and claims, or a nelnet profile\'s NPS token'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "inspect" -d 'Decode a JWT: header, claims, and its times as dates and "in 9m"'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "curl" -d 'Run curl with the profile\'s header, passed without touching any command line'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "completions" -d 'Print a shell completion script'
complete -c tok -n "__fish_tok_using_subcommand help; and not __fish_seen_subcommand_from login print refresh logout status sign inspect curl completions help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
