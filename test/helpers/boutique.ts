/**
 * @module The Online Boutique call graph as its documentation draws it (service → service : TCP
 * port), shared by the end-to-end tests on ../shared/corpora/online-boutique.
 */
export const BOUTIQUE_CALLS: readonly (readonly [string, string, number])[] = [
  ['frontend', 'adservice', 9555],
  ['frontend', 'cartservice', 7070],
  ['frontend', 'checkoutservice', 5050],
  ['frontend', 'currencyservice', 7000],
  ['frontend', 'productcatalogservice', 3550],
  ['frontend', 'recommendationservice', 8080],
  ['frontend', 'shippingservice', 50051],
  ['checkoutservice', 'cartservice', 7070],
  ['checkoutservice', 'currencyservice', 7000],
  ['checkoutservice', 'emailservice', 8080],
  ['checkoutservice', 'paymentservice', 50051],
  ['checkoutservice', 'productcatalogservice', 3550],
  ['checkoutservice', 'shippingservice', 50051],
  ['recommendationservice', 'productcatalogservice', 3550],
  ['cartservice', 'redis-cart', 6379],
]
