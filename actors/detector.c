//  in progress
