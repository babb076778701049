
use builtin;
use str;

set edit:completion:arg-completer[tok] = {|@words|
    fn spaces {|n|
        builtin:repeat $n ' ' | str:join ''
    }
    fn cand {|text desc|
        edit:complex-candidate $text &display=$text' '(spaces (- 14 (wcswidth $text)))$desc
    }
    var command = 'tok'
    for word $words[1..-1] {
        if (str:has-prefix $word '-') {
            break
        }
        set command = $command';'$word
    }
    var completions = [
        &'tok'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
            cand -V 'Print version'
            cand --version 'Print version'
            cand login 'Store credentials for a profile and fetch a first token'
            cand print 'Print a valid token (refreshed first when close to expiry)'
            cand refresh 'Get a new token now'
            cand logout 'Forget a profile: its settings, secrets and token'
            cand status 'List profiles and their tokens (no network)'
            cand sign 'Sign a JWT with your own key and claims, or a nelnet profile''s NPS token'
            cand inspect 'Decode a JWT: header, claims, and its times as dates and "in 9m"'
            cand curl 'Run curl with the profile''s header, passed without touching any command line'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;login'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand --provider 'The provider this profile talks to'
            cand --env 'The provider''s environment: sandbox|production (nexterpay), production|alpha|beta|omega (n3xt), staging|production (netdirector)'
            cand --base-url 'Replace the documented scheme and host (required where none is documented)'
            cand --username 'User name (nexterpay)'
            cand --email 'E-mail to log in with (merchant-v2)'
            cand --merchant-id 'Merchant id (merchant-v2), sent as the merchant_id header'
            cand --client-id 'OAuth2 client id (n3xt, netdirector, oauth2); the secret is asked for separately'
            cand --project 'N3XT project id, e.g. project-live-84ff27dd-…'
            cand --token-url 'OAuth2 token endpoint (oauth2)'
            cand --auth 'How the client authenticates (oauth2): HTTP Basic (RFC 6749 §2.3.1) or fields in the body'
            cand --body 'Token request body encoding (oauth2)'
            cand --scope 'Space-separated scopes (oauth2; netdirector defaults to "nop2/read nop2/write")'
            cand --audience 'Audience to request (oauth2)'
            cand --transaction 'Transaction id whose session token to keep (netdirector-v1)'
            cand --key-id 'NPS API Key ID (nelnet); the API key is asked for separately'
            cand --ttl 'Lifetime of the tokens tok signs (nelnet; default 5m)'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand --api-key 'Use a persistent API key instead of e-mail and password (merchant-v2); the key is asked for like any secret, never taken from the command line'
            cand --secret-stdin 'Read the secret (password, client secret, API key) as one line from stdin'
            cand --check 'Prove the key with a documented request (nelnet: POST /tokenization/session, which creates a session that is left unused)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;print'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand --min-ttl 'Refresh first when the token has less than this left (or 10 % of its lifetime)'
            cand --format 'What to print'
            cand --var 'Variable name for --format env'
            cand --github-env 'In GitHub Actions: append NAME=<value> to $GITHUB_ENV and print only ::add-mask::<token>'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand --secret-stdin 'Read the secret as one line from stdin, if one is needed'
            cand -h 'Print help (see more with ''--help'')'
            cand --help 'Print help (see more with ''--help'')'
        }
        &'tok;refresh'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand --secret-stdin 'Read the secret as one line from stdin, if one is needed'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;logout'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand --all 'Forget every profile'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;status'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand --json 'Print JSON instead of a table'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;sign'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand --alg 'Signing algorithm: HS256/384/512 (raw key bytes), RS256/384/512, PS256/384/512, ES256/384, EdDSA (PEM private key)'
            cand --key-file 'Read the key from this file'
            cand --key-env 'Read the key from this environment variable'
            cand --sub 'Subject claim'
            cand --iss 'Issuer claim'
            cand --aud 'Audience claim'
            cand --ttl 'Expire this long after now (a bare number is seconds)'
            cand --exp 'Expire at this time: RFC 3339 or Unix seconds'
            cand --claim 'A claim; V is read as JSON when it parses (42, true, ["a"]), else as a string'
            cand --claims-json 'Claims from a JSON object in FILE, or on stdin with -'
            cand --kid 'Key id for the header'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand --key-stdin 'Read the key from stdin (one trailing newline is dropped)'
            cand --no-iat 'Leave out the iat claim'
            cand --secret-stdin 'With a nelnet profile: read the API key as one line from stdin, if one is needed'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;inspect'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand --profile 'Inspect the token stored for this profile'
            cand --key-file 'The verification key: raw bytes for HMAC, a PEM public key otherwise'
            cand --key-env 'The verification key from this environment variable'
            cand --alg 'Accept only this algorithm (the key''s family is enforced either way)'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand --json 'Print JSON: header, payload, times and an expired flag'
            cand --verify 'Check the signature (exit 4 when it does not match or the token is unsigned)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;curl'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand --min-ttl 'Refresh first when the token has less than this left (or 10 % of its lifetime)'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;completions'= {
            cand --store 'Where secrets and tokens are kept: keyring or file [default: the profile''s, or keyring]'
            cand --timeout 'Limit for one HTTP exchange, e.g. 30s or 1m'
            cand -v 'Say what tok does, on stderr (secrets are never shown)'
            cand --verbose 'Say what tok does, on stderr (secrets are never shown)'
            cand -h 'Print help'
            cand --help 'Print help'
        }
        &'tok;help'= {
            cand login 'Store credentials for a profile and fetch a first token'
            cand print 'Print a valid token (refreshed first when close to expiry)'
            cand refresh 'Get a new token now'
            cand logout 'Forget a profile: its settings, secrets and token'
            cand status 'List profiles and their tokens (no network)'
            cand sign 'Sign a JWT with your own key and claims, or a nelnet profile''s NPS token'
            cand inspect 'Decode a JWT: header, claims, and its times as dates and "in 9m"'
            cand curl 'Run curl with the profile''s header, passed without touching any command line'
            cand completions 'Print a shell completion script'
            cand help 'Print this message or the help of the given subcommand(s)'
        }
        &'tok;help;login'= {
        }
        &'tok;help;print'= {
        }
        &'tok;help;refresh'= {
        }
        &'tok;help;logout'= {
        }
        &'tok;help;status'= {
        }
        &'tok;help;sign'= {
        }
        &'tok;help;inspect'= {
        }
        &'tok;help;curl'= {
        }
        &'tok;help;completions'= {
        }
        &'tok;help;help'= {
        }
    ]
    $completions[$command]
}
