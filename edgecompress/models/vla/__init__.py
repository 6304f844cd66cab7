"""The reference vision-language-action policy and its parts."""
